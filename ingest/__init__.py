"""Getting documents into the knowledge base: loaders, chunking and incremental sync."""
