DROP TABLE field_definitions;
