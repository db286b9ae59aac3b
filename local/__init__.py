"""The embedded local stack: runs the synthesized stack on 127.0.0.1, without AWS."""
