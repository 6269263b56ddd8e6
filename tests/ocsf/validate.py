"""Validates atrest's OCSF output (a JSON array of Detection Findings) with the OCSF models Prowler publishes
(py-ocsf-models). Prints `N of M validate` and, for each event that does not, its first errors; exits 1 then."""
import json
import sys

from py_ocsf_models.events.findings.detection_finding import DetectionFinding

events = json.load(open(sys.argv[1]))
failed = 0
for i, event in enumerate(events):
    try:
        DetectionFinding.model_validate(event)
    except Exception as e:  # pydantic.ValidationError
        failed += 1
        if failed <= 3:
            print(f"event {i} ({event.get('finding_info', {}).get('uid')}): {str(e)[:600]}")
print(f"{len(events) - failed} of {len(events)} validate")
sys.exit(1 if failed or not events else 0)
