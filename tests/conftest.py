"""pytest configuration for tests/: TensorFlow quiet, tests importable by name."""
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

# fit_rsm's cache of traced epochs between processes (rsmlib.training.epoch_cache_dir)
# stays off, so that a test's tracing does not depend on the tests run before it;
# tests/test_epoch_cache.py turns it on in folders of its own
os.environ["RSMLIB_CACHE_DIR"] = "off"
