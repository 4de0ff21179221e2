-- Migration: create authors, books and loans
-- Type: additive
-- Rollback: drops the tables
-- migrate:up
CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE);
CREATE TABLE books (
  id INTEGER PRIMARY KEY,
  author_id INTEGER NOT NULL REFERENCES authors (id) ON DELETE CASCADE,
  title TEXT NOT NULL,
  isbn TEXT,
  pages INTEGER CHECK (pages > 0)
);
CREATE INDEX books_isbn ON books (isbn);
CREATE TABLE loans (id INTEGER PRIMARY KEY, book_id INTEGER REFERENCES books (id) ON DELETE SET NULL, due TEXT);
CREATE VIEW overdue AS SELECT id, due FROM loans WHERE due < date('now');
-- migrate:down
DROP VIEW overdue;
DROP TABLE loans;
DROP TABLE books;
DROP TABLE authors;
