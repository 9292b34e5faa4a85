"""A stateful counter SavedModel without `serving_default`, like TF Serving's
servables/tensorflow/testdata/export_counter.py (saved_model_counter): signatures `get_counter`,
`incr_counter`, `reset_counter` take no inputs, `incr_counter_by` takes `delta`; all write `output`.
Requests must name their signature. Built with our own TF1 graph code, tiny and fast to load.
"""

from __future__ import annotations

import tensorflow as tf


def save_counter(path: str) -> str:
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        counter = v1.get_variable("counter", initializer=0.0, use_resource=False)
        delta = v1.placeholder(tf.float32, [], name="delta")
        outputs = {
            "get_counter": ({}, tf.identity(counter)),
            "incr_counter": ({}, v1.assign_add(counter, 1.0)),
            "incr_counter_by": ({"delta": delta}, v1.assign_add(counter, delta)),
            "reset_counter": ({}, v1.assign(counter, 0.0)),
        }
        info = v1.saved_model.utils.build_tensor_info
        signatures = {  # build_signature_def: predict_signature_def refuses zero inputs
            name: v1.saved_model.signature_def_utils.build_signature_def(
                {key: info(tensor) for key, tensor in inputs.items()}, {"output": info(output)},
                v1.saved_model.signature_constants.PREDICT_METHOD_NAME)
            for name, (inputs, output) in outputs.items()
        }
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(path)
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map=signatures)
            builder.save()
    return path
