"""nhiportal/api.py loads whichever piece of the API is loaded first.

The API settings name classes of nhiportal.api, and DRF's views read those settings as they
load. When DRF's pagination system check ran before anything had loaded the URLconf (which
system check runs first is an accident of code layout), nhiportal.api began loading, loaded
DRF's views, which asked for nhiportal.api's parser half-loaded: every `manage.py` command,
`make run`'s migrate first, failed with an ImportError. Each case runs in a fresh interpreter,
where nothing has been imported yet."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETUP = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'nhiportal.settings.dev'); django.setup(); "


@pytest.mark.parametrize("first", [
    "import nhiportal.api",
    "from rest_framework.checks import pagination_system_check; assert pagination_system_check(None) == []",
    "import rest_framework.views",
])
def test_the_api_loads_whatever_loads_first(first, tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", SETUP + first], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "NHI_VAR_DIR": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
