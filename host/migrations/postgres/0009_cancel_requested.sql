-- Cancel asked for while a step holds the job (e.g. during `submit`): the
-- step that gets the vendor's handle cancels the task there (issue 13).
ALTER TABLE jobs ADD COLUMN cancel_requested_at BIGINT;
