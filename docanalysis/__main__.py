from docanalysis.cli import main

main()
