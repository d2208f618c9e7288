module crashwatch/clients/go

go 1.19
