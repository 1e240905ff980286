"""Drill files: read a TOML drill, validate every field, build the `Drill` value.

Every problem in a file is collected as a `Problem` (file, line, field path,
message) and raised together in one `InputError`; bad content never raises
anything else. Seeded ranges ("60s..120s", "20..60") are drawn with the run's
seed, so one seed always gives the same drill. The format is described in the
README ("Writing a drill").

The modules, in the order a file goes through them:

- `files`: read and parse the file, draw its ranges, raise every problem at once
- `lines`: the TOML position index (field path -> line)
- `ranges`: seeded ranges drawn (or taken at their ends) before any section is read
- `problems`, `values`, `tables`, `distributions`, `names`: the shared readers
- `document`: the whole file, section by section:
  `header` ([drill]), `service`, `dependencies` (and caches), `pools`, `classes`,
  `faults`, `slos`, `par` (actions), `hints`
- `finding`: where drills live, finding one by id, listing them
"""

from sim.drill.loader.faults import FAULT_PARAMS
from sim.drill.loader.files import load_drill, validate_drill_file
from sim.drill.loader.finding import SHIPPED_DRILLS_DIR, DrillSummary, find_drill, list_drills, user_drills_dir
from sim.drill.loader.lines import index_source_lines
from sim.drill.loader.par import ACTION_ARGUMENTS
from sim.drill.loader.problems import Context, build

__all__ = [
    "ACTION_ARGUMENTS",
    "SHIPPED_DRILLS_DIR",
    "DrillSummary",
    "find_drill",
    "index_source_lines",
    "list_drills",
    "load_drill",
    "user_drills_dir",
    "validate_drill_file",
]

# The loader tests reach these under the names they had when the loader was one module.
_FAULT_PARAMS = FAULT_PARAMS
_Context = Context
_build = build
