"""Charts the programme draws itself, shared by the console's pages and the documents' PDF: the
geometry of horizontal bar charts (bars.py), mirrored in a right-to-left language. Each front end
draws it with its own template; nothing here knows of HTTP, PDF or a database."""
