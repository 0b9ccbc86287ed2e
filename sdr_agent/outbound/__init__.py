"""Everything the service sends on its own initiative: WhatsApp messages and webhook notifications."""
