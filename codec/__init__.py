"""Payload encryption: the AES-256-GCM PayloadCodec (aes_gcm.py), its key ring (keys.py) and the
codec server the Temporal Web UI calls to show decrypted payloads to staff (server.py)."""
