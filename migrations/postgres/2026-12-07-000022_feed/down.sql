DROP TABLE subscriptions;
DROP TABLE feed_items;
