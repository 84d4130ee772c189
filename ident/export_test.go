package ident

// Countries is the built-in ISO 3166-1 alpha-3 table, for tests.
const Countries = countries
