package guest

// OrDefault is v, or d when v is zero (an unset spec field).
func OrDefault(v, d int64) int64 {
	if v == 0 {
		return d
	}
	return v
}
