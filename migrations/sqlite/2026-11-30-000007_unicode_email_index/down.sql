-- Nothing to undo: the index is rebuilt by whichever lower() the connection has.
SELECT 1;
