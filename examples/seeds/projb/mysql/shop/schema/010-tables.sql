-- projb / shop (MariaDB 10.11, MySQL 8): tables only. Foreign keys, unique keys and
-- secondary indexes come last (constraints/), so data loads fast and in any order.
CREATE TABLE stores (
  id         INT UNSIGNED NOT NULL AUTO_INCREMENT,
  code       VARCHAR(20)  NOT NULL,
  name       VARCHAR(100) NOT NULL,
  url        VARCHAR(255) NOT NULL,
  created_at DATETIME     NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE customers (
  id        INT UNSIGNED NOT NULL AUTO_INCREMENT,
  store_id  INT UNSIGNED NOT NULL,
  email     VARCHAR(190) NOT NULL,
  full_name VARCHAR(120) NOT NULL,
  city      VARCHAR(80)  NOT NULL,
  signed_up DATE         NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE settings (
  name  VARCHAR(64)  NOT NULL,
  value VARCHAR(255) NOT NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
