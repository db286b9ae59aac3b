"""What the local stack needs of CloudFormation: intrinsic functions (``intrinsics``) and the cloud assembly's
templates and assets (``assets``)."""
