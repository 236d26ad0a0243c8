module smb3d

go 1.26
