"""The ops console: the programme's staff work in a web browser, in French, Arabic or English,
each with their role (console/accounts.py), on the same workflows and database as the CLI and the
gateway. Pages are console/pages.py over console/templates; every action goes through the one
front door (frontdoor.send_update) as the signed-in user (console/actions.py)."""
