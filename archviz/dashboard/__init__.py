"""The dashboard: what learners, instructors and admins see and do."""
