module github.com/carhop/carhop

go 1.26
