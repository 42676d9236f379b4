"""Email delivery over SMTP (STARTTLS, implicit TLS, or plain on localhost), with auth."""

from bot.integration.email.sender import EmailReceipt, send_email

__all__ = ["EmailReceipt", "send_email"]
