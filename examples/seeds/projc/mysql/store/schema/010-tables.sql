-- projc / store (MariaDB 10.11, MySQL 8): tables only; keys and indexes in constraints/.
CREATE TABLE categories (
  id   INT UNSIGNED NOT NULL AUTO_INCREMENT,
  slug VARCHAR(60)  NOT NULL,
  name VARCHAR(100) NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE products (
  id          INT UNSIGNED  NOT NULL AUTO_INCREMENT,
  category_id INT UNSIGNED  NOT NULL,
  sku         VARCHAR(40)   NOT NULL,
  name        VARCHAR(150)  NOT NULL,
  price       DECIMAL(10,2) NOT NULL,
  image_url   VARCHAR(255)  NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
