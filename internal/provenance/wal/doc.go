// Package wal is the connector's write-ahead log: a bbolt file holding every record the
// connector accepted, each resource's head, and which records still await the ledger.
// A record is chained (given its previous hash) in the same bbolt transaction that stores
// it, and bbolt fsyncs on commit, so an acknowledged record survives a crash and the
// chain is the same after a restart.
package wal
