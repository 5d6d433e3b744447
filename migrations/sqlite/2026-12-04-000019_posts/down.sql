DROP TABLE mentions;
DROP TABLE comments;
DROP TABLE posts;
