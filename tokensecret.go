package credo

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"sync"
)

// TokenPrefix starts every token secret, so that a leaked one is easy to
// recognise (and to scan for).
const TokenPrefix = "credo_"

// NewTokenSecret returns a new random token secret (32 random bytes,
// base64url, prefixed) and the hex SHA-256 under which the token is stored
// (Token.Hash). The secret is shown once; only the hash is kept.
func NewTokenSecret() (secret string, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("credo: crypto/rand failed: " + err.Error())
	}
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	sum := TokenSecretSum(secret)
	return secret, hex.EncodeToString(sum[:])
}

var secretBufs = sync.Pool{New: func() any { b := make([]byte, 0, 128); return &b }}

// TokenSecretSum returns the SHA-256 of a token secret, the token's Hash
// once hex-encoded, without allocating (authentication looks tokens up by
// it on every request).
func TokenSecretSum(secret string) [32]byte {
	bp := secretBufs.Get().(*[]byte)
	b := append((*bp)[:0], secret...)
	sum := sha256.Sum256(b)
	clear(b) // don't leave secrets lying around in pooled memory
	*bp = b
	secretBufs.Put(bp)
	return sum
}
