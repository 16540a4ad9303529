"""Export a finished run: its adapter folder or one merged model (folder.py), an ONNX graph (onnx.py), a hub
repository (push.py). ``from tuneforge.export import export_run`` keeps working."""

from tuneforge.export.folder import export_run

__all__ = ["export_run"]
