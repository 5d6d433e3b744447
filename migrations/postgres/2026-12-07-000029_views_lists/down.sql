DROP TABLE list_members;
DROP TABLE lists;
DROP TABLE views;
