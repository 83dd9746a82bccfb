package converter

// OpenFlatNamed opens the flat file at path like OpenFlat, naming it name in
// diagnostics and reports. The demo writes its embedded sample to a
// temporary directory and still calls it sample.txt, without changing the
// process's working directory.
func OpenFlatNamed(path, name string) (*FlatInput, error) {
	in, err := OpenFlat(path, nil)
	if err != nil {
		return nil, err
	}
	in.name = name
	return in, nil
}
