# initiator: see DESIGN.md
