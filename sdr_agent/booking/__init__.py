"""Meeting booking after "qualified": the conversation, the stored booking, reminders and the .ics link."""
