ALTER TABLE subscribers ADD UNIQUE KEY subscribers_email_unique (email);
CREATE INDEX subscribers_list ON subscribers (list_name);
