# fio-jobs: see DESIGN.md
