"""The broker side: replica logs, page cache, leaders, followers, request handling."""
