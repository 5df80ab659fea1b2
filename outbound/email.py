"""Sending a message by email over SMTP: HTML with a plain-text alternative, a Message-ID derived
from the message's id (a resend carries the same one), STARTTLS and authentication where the
settings ask for them (production), the local sink of the embedded default otherwise.

A failure is permanent (an SMTP 5xx: the server refuses this message for good) or transient
(4xx, connection refused, timeout): the caller retries transient ones and sets permanent ones aside.
"""

import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from infra.settings import Settings
from outbound.render import Rendered, reference


class SendFailed(Exception):
    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


def compose(message_id: str, to: str, rendered: Rendered, settings: Settings) -> EmailMessage:
    msg = EmailMessage()
    msg["Message-ID"] = f"<{reference(message_id)}@{settings.mail_domain}>"
    msg["From"] = settings.mail_from
    msg["To"] = to
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    msg["Content-Language"] = rendered.language  # after the content: setting it clears Content-* headers
    return msg


def send(msg: EmailMessage, settings: Settings) -> None:
    """Hand the message to the SMTP server; raises SendFailed saying whether to retry."""
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(msg)
    except smtplib.SMTPRecipientsRefused as e:
        codes = [code for code, _ in e.recipients.values()]
        raise SendFailed(f"recipient refused: {codes}", permanent=all(c >= 500 for c in codes)) from None
    except smtplib.SMTPResponseException as e:
        raise SendFailed(f"SMTP {e.smtp_code}: {_text(e.smtp_error)}", permanent=e.smtp_code >= 500) from None
    except (smtplib.SMTPException, OSError) as e:
        raise SendFailed(f"{type(e).__name__}: {e}", permanent=False) from None


def _text(error: bytes | str) -> str:
    return (error.decode(errors="replace") if isinstance(error, bytes) else error)[:300]


__all__ = ["SendFailed", "compose", "make_msgid", "send"]
