"""Models equivalent to TF Serving's own test models, so our conformance tests can ask what TF
Serving's tests ask and expect what they expect. Our own generator, written to the same graph and
signatures as servables/tensorflow/testdata/saved_model_half_plus_two.py (TF Serving's, not copied):

- `half_plus_two` (TF1, `tf.compat.v1` Builder): y = 0.5x + 2 on `x` parsed from tf.Examples
  (feature `x`, FixedLen [1] float; `x2` FixedLen [1] float default 0). Signatures:
  `serving_default` (predict x -> y), `regress_x_to_y` (examples -> y), `regress_x_to_y2`
  (examples -> 0.5x + 3), `regress_x2_to_y3` (x2 -> 0.5 x2 + 3, a float input),
  `classify_x_to_y` (examples -> scores y), `classify_x2_to_y3` (x2 -> scores y3; present in TF
  Serving's saved_model_half_plus_two_2_versions metadata JSON). The method names are
  `tensorflow/serving/predict|regress|classify` as the TF1 builder writes them.
- `half_plus_two_tf2` (native TF2 `tf.saved_model.save` of a tf.Module): the same signatures, all
  with method_name `tensorflow/serving/predict` (what TF2 exports write), `serving_default`
  taking `x` of shape [1].
- `half_plus_two_2_versions`: the TF1 model as versions 123 and 124.
"""

from __future__ import annotations

import os

import tensorflow as tf

HALF_PLUS_TWO_SIGNATURES = (
    "classify_x2_to_y3", "classify_x_to_y", "regress_x2_to_y3", "regress_x_to_y", "regress_x_to_y2",
    "serving_default",
)


def _feature_spec() -> dict[str, tf.io.FixedLenFeature]:
    return {
        "x": tf.io.FixedLenFeature([1], dtype=tf.float32),
        "x2": tf.io.FixedLenFeature([1], dtype=tf.float32, default_value=[0.0]),
    }


def save_half_plus_two_tf1(path: str) -> str:
    """The TF1 graph: a string placeholder of serialized Examples, x / x2 parsed from it, and
    signatures that feed either the examples or the parsed tensors directly."""
    v1 = tf.compat.v1
    sig = v1.saved_model.signature_def_utils
    info = v1.saved_model.utils.build_tensor_info
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as session:
        a = v1.Variable(0.5, name="a")
        b = v1.Variable(2.0, name="b")
        c = v1.Variable(3.0, name="c")
        serialized = v1.placeholder(tf.string, name="tf_example", shape=[None])
        parsed = tf.io.parse_example(serialized, _feature_spec())
        x = tf.identity(parsed["x"], name="x")
        y = tf.identity(a * x + b, name="y")
        y2 = tf.identity(a * x + c, name="y2")
        x2 = tf.identity(parsed["x2"], name="x2")
        a2 = v1.Variable(0.5, name="a2")
        c2 = v1.Variable(3.0, name="c2")
        y3 = tf.identity(a2 * x2 + c2, name="y3")

        def predict(inputs, outputs):
            return sig.build_signature_def(inputs, outputs, v1.saved_model.PREDICT_METHOD_NAME)

        def regress(inputs, outputs):
            return sig.build_signature_def({"inputs": info(inputs)}, {"outputs": info(outputs)},
                                           v1.saved_model.REGRESS_METHOD_NAME)

        def classify(inputs, scores):
            return sig.build_signature_def({"inputs": info(inputs)}, {"scores": info(scores)},
                                           v1.saved_model.CLASSIFY_METHOD_NAME)

        session.run(v1.global_variables_initializer())
        builder = v1.saved_model.Builder(path)
        builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map={
            "serving_default": predict({"x": info(x)}, {"y": info(y)}),
            "regress_x_to_y": regress(serialized, y),
            "regress_x_to_y2": regress(serialized, y2),
            "regress_x2_to_y3": regress(x2, y3),
            "classify_x_to_y": classify(serialized, y),
            "classify_x2_to_y3": classify(x2, y3),
        })
        builder.save()
    return path


class HalfPlusTwoTf2(tf.Module):
    """The native TF2 module: every signature is a tf.function, so every method_name is predict."""

    def __init__(self) -> None:
        super().__init__()
        self.a = tf.Variable(0.5, name="a")
        self.b = tf.Variable(2.0, name="b")
        self.c = tf.Variable(3.0, name="c")

    def _compute(self, x, offset):
        return self.a * x + offset

    def _parse(self, serialized):
        return tf.io.parse_example(serialized, _feature_spec())["x"]

    @tf.function(input_signature=[tf.TensorSpec([1], tf.float32, name="x")])
    def predict(self, x):
        return {"y": self._compute(x, self.b)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def regress_xy(self, inputs):
        return {"outputs": self._compute(self._parse(inputs), self.b)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def regress_xy2(self, inputs):
        return {"outputs": self._compute(self._parse(inputs), self.c)}

    @tf.function(input_signature=[tf.TensorSpec([1], tf.float32, name="inputs")])
    def regress_x2y3(self, inputs):
        return {"outputs": self._compute(inputs, self.c)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def classify_xy(self, inputs):
        return {"scores": self._compute(self._parse(inputs), self.b)}

    @tf.function(input_signature=[tf.TensorSpec([1], tf.float32, name="inputs")])
    def classify_x2y3(self, inputs):
        return {"scores": self._compute(inputs, self.c)}


def save_half_plus_two_tf2(path: str) -> str:
    module = HalfPlusTwoTf2()
    tf.saved_model.save(module, path, signatures={
        "serving_default": module.predict,
        "regress_x_to_y": module.regress_xy,
        "regress_x_to_y2": module.regress_xy2,
        "regress_x2_to_y3": module.regress_x2y3,
        "classify_x_to_y": module.classify_xy,
        "classify_x2_to_y3": module.classify_x2y3,
    })
    return path


def build_tf_serving_models(root: str) -> dict[str, str]:
    """Model name -> base path, each with numbered versions as TF Serving's testdata has them:
    half_plus_two/123, half_plus_two_tf2/123, half_plus_two_2_versions/{123,124}."""
    bases = {name: os.path.join(root, name) for name in ("half_plus_two", "half_plus_two_tf2",
                                                          "half_plus_two_2_versions")}
    save_half_plus_two_tf1(os.path.join(bases["half_plus_two"], "123"))
    save_half_plus_two_tf2(os.path.join(bases["half_plus_two_tf2"], "123"))
    for version in (123, 124):
        save_half_plus_two_tf1(os.path.join(bases["half_plus_two_2_versions"], str(version)))
    return bases
