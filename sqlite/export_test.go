package sqlite

// SetBulkTx sets the rows per transaction of EndBulk and a fault called
// after each of its commits but the last; the returned function restores
// them.
func SetBulkTx(rows int, fault func() error) func() {
	r, f := bulkTxRows, bulkFault
	bulkTxRows, bulkFault = rows, fault
	return func() { bulkTxRows, bulkFault = r, f }
}
