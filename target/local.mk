# target: see DESIGN.md
