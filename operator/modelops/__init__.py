"""modelops: one ModelDeployment resource owns a TensorFlow model's whole life."""

API_GROUP = "modelops.dev"
API_VERSION = "v1alpha1"
KIND = "ModelDeployment"
PLURAL = "modeldeployments"
SHORT_NAME = "mdep"

__version__ = "0.1.0"
