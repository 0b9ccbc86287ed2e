"""Twilio channel adapters: HTTP in, InboundMessage to the service, TwiML out."""
