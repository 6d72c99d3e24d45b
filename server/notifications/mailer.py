"""Sending e-mail over SMTP (aiosmtplib), or logging it when SMTP_HOST is not set.

The Message-ID is the outbox row's id, so in the rare case a worker dies between the SMTP
server accepting a message and the row being marked sent, the copy sent again is recognisably
the same message (and mail clients that thread by Message-ID fold it into one).
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate
from types import TracebackType
from typing import Any
from uuid import UUID

import aiosmtplib

from server.infra.config import Config

log = logging.getLogger(__name__)
SMTP_TIMEOUT_SECONDS = 20


def message_id(outbox_id: UUID) -> str:
    return f"<{outbox_id}@appointly.outbox>"


def build_email(
    *,
    outbox_id: UUID,
    mail_from: str,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    attachments: list[dict[str, Any]],
) -> EmailMessage:
    """A multipart message: plain text, its HTML alternative, then any attachments."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id(outbox_id)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, _, rest = attachment["content_type"].partition("/")
        subtype, _, params = rest.partition(";")
        message.add_attachment(
            attachment["content"].encode(),
            maintype=maintype,
            subtype=subtype.strip(),
            filename=attachment["filename"],
            params=_parameters(params),
        )
    return message


def _parameters(raw: str) -> dict[str, str]:
    pairs = (part.strip().partition("=") for part in raw.split(";") if part.strip())
    return {key: value for key, _, value in pairs}


def _log_instead_of_sending(message: EmailMessage, config: Config) -> None:
    """Without SMTP a developer reads the mail in the log, links included. Production refuses
    to start without SMTP_HOST; should a Config get there anyway, the body (reset and manage
    links) still never reaches the log."""
    if config.app_env == "production":
        log.warning(
            "SMTP_HOST is not set; e-mail to %s (%s) not sent", message["To"], message["Subject"]
        )
        return
    log.info(
        "SMTP_HOST is not set; e-mail not sent:\nTo: %s\nSubject: %s\n\n%s",
        message["To"],
        message["Subject"],
        message.get_body(("plain",)).get_content(),  # type: ignore[union-attr]
    )


class Mailer:
    """One SMTP connection for a batch, opened on the first message and closed at the end."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._smtp: aiosmtplib.SMTP | None = None

    async def __aenter__(self) -> Mailer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._close()

    async def send(self, message: EmailMessage) -> None:
        """Hand `message` to the SMTP server; raises aiosmtplib.SMTPException or OSError."""
        if not self._config.smtp_enabled:
            _log_instead_of_sending(message, self._config)
            return
        smtp = await self._connected()
        try:
            await smtp.send_message(message)
        except (aiosmtplib.SMTPServerDisconnected, OSError):
            # The connection is gone; the next message opens a new one.
            await self._close()
            raise

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._smtp is None or not self._smtp.is_connected:
            config = self._config
            smtp = aiosmtplib.SMTP(
                hostname=config.smtp_host,
                port=config.smtp_port,
                start_tls=config.smtp_starttls,
                username=config.smtp_username,
                password=config.smtp_password,
                timeout=SMTP_TIMEOUT_SECONDS,
            )
            await smtp.connect()
            self._smtp = smtp
        return self._smtp

    async def _close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()
