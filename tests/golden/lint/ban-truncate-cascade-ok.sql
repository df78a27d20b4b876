SET lock_timeout = '5s';
TRUNCATE sessions, session_events;
