"""CSV and Parquet tables read whole (`data=tabular`), and the steps every table reader shares:
columns, the row encoder (features, categories, labels), label mapping and statistics."""
