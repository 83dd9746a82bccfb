package main

import (
	_ "github.com/gocarina/gocsv"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/xeipuuv/gojsonschema"
	_ "golang.org/x/oauth2"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)

func main() {}
