module crashwatch/tests/client/go

go 1.19

require crashwatch/clients/go v0.0.0

replace crashwatch/clients/go => ../../../clients/go
