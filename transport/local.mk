# transport: see DESIGN.md
