DELETE FROM posts WHERE author_id = 1 AND title = 'Welcome';
DELETE FROM users WHERE id = 1;
