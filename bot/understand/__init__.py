"""Reading a customer message once: its dialogue act and the features training and serving share."""
