"""What the programme sends out: messages rendered in the recipient's language (render.py) and
sent by email (email.py); the embedded default's local mail sink (sink.py)."""
