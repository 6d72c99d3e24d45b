"""Outside calendars: the CalDAV adapter and the iCalendar it reads and writes."""
